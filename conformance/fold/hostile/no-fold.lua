-- Defines a local fold only: the global `fold` is missing.
local function fold(state, event)
  return state
end
