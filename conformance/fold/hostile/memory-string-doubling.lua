-- Doubles a string until the heap cap stops it.
function fold(state, event)
  local s = "x"
  while true do
    s = s .. s
  end
end
