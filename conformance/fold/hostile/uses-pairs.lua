-- pairs has an unspecified order: forbidden (use dpairs).
function fold(state, event)
  local n = 0
  for k, v in pairs(event) do n = n + 1 end
  state.fields = n
  return state
end
