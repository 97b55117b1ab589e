-- Strings in the state must be UTF-8.
function fold(state, event)
  state.s = "\xff\xfe"
  return state
end
