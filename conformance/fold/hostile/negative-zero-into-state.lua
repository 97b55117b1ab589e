-- -0.0 is a float.
function fold(state, event)
  state.z = -0.0
  return state
end
