-- Unbounded non-tail recursion: the Lua stack grows until the heap cap stops it.
local function down(n)
  return 1 + down(n + 1)
end

function fold(state, event)
  state.depth = down(0)
  return state
end
