-- Integer keys that are not exactly 1..n.
function fold(state, event)
  state.t = { [1] = "a", [3] = "c" }
  return state
end
