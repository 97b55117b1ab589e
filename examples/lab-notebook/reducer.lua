-- Lab notebook reducer: registered samples with their volume and latest temperature reading.
-- state = { samples = { [id] = { volume_ul, readings, last_temp_mk } }, events = <count> }
function fold(state, event)
  state.events = (state.events or 0) + 1
  local samples = state.samples or {}
  local p = event.payload
  if event.type == "sample.registered" then
    samples[p.sample] = { volume_ul = p.volume_ul, readings = 0 }
  elseif event.type == "reading.taken" then
    local s = samples[p.sample]
    if s == nil then
      log("reading for unknown sample", p.sample)
    else
      s.readings = s.readings + 1
      s.last_temp_mk = p.temp_mk
    end
  end
  state.samples = samples
  return state
end
