-- Forgets to return the state.
function fold(state, event)
  state.count = state.count + 1
end
