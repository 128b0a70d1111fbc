-- Argo CD health check for KRO objects (typekro, plugins/argocd/health.lua).
-- Register it in argocd-cm for kro.run_ResourceGraphDefinition and for every
-- instance kind an RGD defines (resource.customizations.health.<group>_<Kind>),
-- see argocd-cm.yaml. It uses only what Argo CD's Lua sandbox offers by
-- default (base and table libraries; no string library).
--
-- ResourceGraphDefinition: Active -> Healthy; GraphAccepted=False (KRO
-- rejected the graph) -> Degraded; Inactive otherwise -> Progressing (KRO
-- reports Inactive while it is still creating the CRD and controller).
-- Instance: status.state ACTIVE -> Healthy, IN_PROGRESS and DELETING ->
-- Progressing, ERROR and FAILED -> Degraded; the messages of the conditions
-- that are not True are added to the message.

local hs = {}

local function problems(conditions)
  local msgs = {}
  if conditions == nil then
    return ""
  end
  for _, c in ipairs(conditions) do
    if c.status ~= "True" and c.type ~= nil then
      local m = c.type
      if c.reason ~= nil and c.reason ~= "" then
        m = m .. " (" .. c.reason .. ")"
      end
      if c.message ~= nil and c.message ~= "" then
        m = m .. ": " .. c.message
      end
      table.insert(msgs, m)
    end
  end
  return table.concat(msgs, "; ")
end

local function condition(conditions, kind)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function describe(prefix, conditions)
  local p = problems(conditions)
  if p == "" then
    return prefix
  end
  return prefix .. ": " .. p
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for KRO to report a status"
  return hs
end

local state = obj.status.state
local conditions = obj.status.conditions

if obj.kind == "ResourceGraphDefinition" then
  local accepted = condition(conditions, "GraphAccepted")
  if state == "Active" then
    hs.status = "Healthy"
    hs.message = "ResourceGraphDefinition is Active"
  elseif accepted ~= nil and accepted.status == "False" then
    hs.status = "Degraded"
    hs.message = describe("KRO rejected the graph", conditions)
  elseif state == "Inactive" then
    hs.status = "Progressing"
    hs.message = describe("Inactive", conditions)
  else
    hs.status = "Progressing"
    hs.message = "Waiting for KRO to process the ResourceGraphDefinition"
  end
  return hs
end

if state == "ACTIVE" then
  local ready = condition(conditions, "Ready")
  local generation = obj.metadata.generation
  if ready ~= nil and ready.observedGeneration ~= nil and generation ~= nil and ready.observedGeneration < generation then
    hs.status = "Progressing"
    hs.message = "Waiting for KRO to reconcile generation " .. tostring(generation)
  else
    hs.status = "Healthy"
    hs.message = "ACTIVE"
  end
elseif state == "IN_PROGRESS" or state == "DELETING" then
  hs.status = "Progressing"
  hs.message = describe(state, conditions)
elseif state == "ERROR" or state == "FAILED" then
  hs.status = "Degraded"
  hs.message = describe(state, conditions)
else
  hs.status = "Progressing"
  hs.message = describe("Waiting for KRO (state " .. tostring(state) .. ")", conditions)
end
return hs
