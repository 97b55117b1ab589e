-- Integer division by zero is a Lua error.
function fold(state, event)
  state.q = 1 // (state.count - state.count)
  return state
end
