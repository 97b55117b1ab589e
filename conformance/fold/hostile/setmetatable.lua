-- Metatables are not available.
function fold(state, event)
  return setmetatable(state, { __index = function() return 0 end })
end
