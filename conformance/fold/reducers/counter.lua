-- Counter: state = { count = <integer> }; events { type = "inc" | "dec" | "reset", n = <integer> }.
function fold(state, event)
  local count = state.count or 0
  if event.type == "inc" then
    count = count + (event.n or 1)
  elseif event.type == "dec" then
    count = count - (event.n or 1)
  elseif event.type == "reset" then
    count = 0
  end
  state.count = count
  return state
end
