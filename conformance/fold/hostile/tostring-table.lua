-- tostring of a table would print an address.
function fold(state, event)
  state.s = tostring({})
  return state
end
