-- A cycle cannot be stored.
function fold(state, event)
  state.self = state
  return state
end
