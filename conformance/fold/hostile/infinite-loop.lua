-- Never returns: must stop with GATOS_E_FOLD_FUEL at exactly fuel + 1 instructions.
function fold(state, event)
  while true do end
end
