-- A table with both integer and string keys is neither an array nor an object.
function fold(state, event)
  state.t = { 1, 2, name = "x" }
  return state
end
