-- Argo CD health check for KRO objects (typekro, plugins/argocd/health.lua).
-- Register it in argocd-cm for kro.run_ResourceGraphDefinition and for every
-- instance kind an RGD defines (resource.customizations.health.<group>_<Kind>),
-- see argocd-cm.yaml. It uses only what Argo CD's Lua sandbox offers by
-- default (base and table libraries; no string library).
--
-- It gives the same status as Argo CD's own kro.run checks
-- (resource_customizations/kro.run) in the situations they distinguish (our
-- cases: plugins/test/testdata/argocd-health) and also covers instance kinds
-- in any API group. KRO stamps every condition with the generation it observed,
-- and KRO's state (ACTIVE, Active) can lag a new generation, so:
--   Healthy      the Ready condition is True for metadata.generation;
--   Degraded     ResourceGraphDefinition: one of its conditions is False for
--                the current generation; instance: state ERROR or FAILED and
--                one of its conditions False for the current generation;
--   Progressing  anything else: no status yet, a status for an older
--                generation, resources not ready, or being deleted.
-- Messages start with upstream's wording and add the conditions that are not
-- True, e.g. "Waiting for instance to become ready: IN_PROGRESS: ResourcesReady
-- (NotReady): deployment not ready".

local hs = {}

local isRGD = obj.kind == "ResourceGraphDefinition"
local metadata = obj.metadata or {}
local generation = metadata.generation

-- Argo CD versions with argoproj/argo-cd#27596 run health checks on objects
-- being deleted (older ones report "Pending deletion" themselves): say what
-- holds the deletion, as upstream's checks do.
if metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Pending deletion"
  if metadata.finalizers ~= nil and #metadata.finalizers > 0 then
    hs.message = "Pending deletion; blocked by finalizers: " .. table.concat(metadata.finalizers, ", ")
  end
  return hs
end

if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for KRO to report status"
  return hs
end

local state = obj.status.state
local conditions = obj.status.conditions

-- The conditions KRO itself sets; an RGD's author conditions are not judged.
local defined = {
  InstanceManaged = not isRGD,
  GraphResolved = not isRGD,
  ResourcesReady = not isRGD,
  GraphRevisionsResolved = isRGD,
  GraphAccepted = isRGD,
  KindReady = isRGD,
  ControllerReady = isRGD,
  Ready = true,
}

local function current(c)
  return generation ~= nil and c.observedGeneration ~= nil and c.observedGeneration == generation
end

-- problems lists the conditions that are not True, for the message.
local function problems()
  local msgs = {}
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

local function with(prefix, detail)
  if detail == nil or detail == "" then
    return prefix
  end
  return prefix .. ": " .. detail
end

local ready, failed, stale = false, false, false
for _, c in ipairs(conditions) do
  if c.type == "Ready" and c.status == "True" then
    if current(c) then
      ready = true
    else
      stale = true
    end
  end
  if defined[c.type] and c.status == "False" and current(c) then
    failed = true
  end
end

if ready then
  hs.status = "Healthy"
  if isRGD then
    hs.message = "ResourceGraphDefinition is active and serving instances"
  else
    hs.message = "Instance is active and running"
  end
  return hs
end

local detail = problems()
if stale then
  detail = with("KRO has not reconciled generation " .. tostring(generation) .. " yet", detail)
end
if state ~= nil and not isRGD then
  detail = with(tostring(state), detail)
end

if failed and (isRGD or state == "ERROR" or state == "FAILED") then
  hs.status = "Degraded"
  if isRGD then
    hs.message = with("KRO rejected the ResourceGraphDefinition", detail)
  else
    hs.message = with("KRO failed to reconcile the instance", detail)
  end
  return hs
end

hs.status = "Progressing"
if isRGD then
  hs.message = with("Waiting for ResourceGraphDefinition to become ready", detail)
else
  hs.message = with("Waiting for instance to become ready", detail)
end
return hs
