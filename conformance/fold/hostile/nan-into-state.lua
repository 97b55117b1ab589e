-- NaN cannot be stored.
function fold(state, event)
  state.x = 0 / 0
  return state
end
