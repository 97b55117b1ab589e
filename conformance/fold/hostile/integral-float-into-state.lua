-- 3.0 is a float in Lua 5.4 even though its value is integral: rejected, not normalized.
function fold(state, event)
  state.three = 6 / 2
  return state
end
