-- Integers beyond 2^53-1 cannot reach JS exactly.
function fold(state, event)
  state.big = math.maxinteger
  return state
end
