-- A table reachable twice (aliasing) would not survive a checkpoint: rejected.
function fold(state, event)
  local t = { 1 }
  state.a = t
  state.b = t
  return state
end
