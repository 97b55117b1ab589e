-- Tries to swallow fuel exhaustion with pcall and keep going.
function fold(state, event)
  while true do
    pcall(function()
      while true do end
    end)
    state.caught = (state.caught or 0) + 1
  end
end
