-- Lua patterns are not available (their C time is not metered).
function fold(state, event)
  state.at = string.find("aaaaaaaaab", "a-b")
  return state
end
