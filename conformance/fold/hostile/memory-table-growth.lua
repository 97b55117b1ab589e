-- Grows a table of tables until the heap cap stops it.
function fold(state, event)
  local t = {}
  local i = 0
  while true do
    i = i + 1
    t[i] = { i, i, i, i }
  end
end
