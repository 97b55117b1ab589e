-- One C call asking for a gigabyte.
function fold(state, event)
  state.big = string.rep("x", 1 << 30)
  return state
end
