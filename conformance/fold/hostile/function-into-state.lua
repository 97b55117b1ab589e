-- A function cannot be stored.
function fold(state, event)
  state.f = fold
  return state
end
