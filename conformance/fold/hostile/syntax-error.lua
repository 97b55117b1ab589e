-- Not Lua.
function fold(state, event)
  state.count = = 1
  return state
end
