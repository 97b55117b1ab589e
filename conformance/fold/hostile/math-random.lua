-- Uses a random number generator.
function fold(state, event)
  state.roll = math.random(6)
  return state
end
