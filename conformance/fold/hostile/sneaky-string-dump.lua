-- string.dump under a computed name: passes the lint, but string.dump does not exist in EchoLua.
function fold(state, event)
  local dump = string["du" .. "mp"]
  state.code = dump(fold)
  return state
end
