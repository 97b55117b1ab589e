-- Golden reducer: reads every field of the event (type, actor, ulid, ts, cid, caps, payload), keeps nested
-- objects, an array and a digest built in dpairs order. Integers and strings only.
function fold(state, event)
  state.n = (state.n or 0) + 1
  local by = state.by_actor or {}
  local a = by[event.actor] or { count = 0, sum = 0 }
  a.count = a.count + 1
  if event.type == "add" then
    a.sum = a.sum + event.payload.n
  elseif event.type == "note" then
    local notes = state.notes or {}
    notes[#notes + 1] = event.actor .. ": " .. event.payload.text
    state.notes = notes
  elseif event.type == "set" then
    local kv = state.kv or {}
    kv[event.payload.key] = event.payload.value
    state.kv = kv
    local keys = {}
    for k in dpairs(kv) do keys[#keys + 1] = k end
    state.kv_keys = table.concat(keys, ",")
  end
  by[event.actor] = a
  state.by_actor = by
  state.last = { cid = event.cid, ts = event.ts, ulid = event.ulid, caps = table.concat(event.caps, " ") }
  return state
end
