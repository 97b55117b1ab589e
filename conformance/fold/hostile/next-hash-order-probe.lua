-- Probes the string-hash order of a table through next().
function fold(state, event)
  local t = { alpha = 1, beta = 2, gamma = 3, delta = 4 }
  local first = next(t)
  state.first = first
  return state
end
