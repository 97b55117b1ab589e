-- Exponential recursion: runs out of fuel long before memory.
local function fib(n)
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end

function fold(state, event)
  state.fib = fib(60)
  return state
end
