-- Reads the clock.
function fold(state, event)
  state.at = os.time()
  return state
end
