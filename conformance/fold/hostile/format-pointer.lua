-- %p prints an address.
function fold(state, event)
  state.s = string.format("%p", state)
  return state
end
