-- A float cannot be stored (state holds integers only).
function fold(state, event)
  state.half = 0.5
  return state
end
