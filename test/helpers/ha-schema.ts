/**
 * Home Assistant's documented MQTT discovery schema for `sensor` and `binary_sensor`
 * (home-assistant.io integrations/mqtt, sensor.mqtt, binary_sensor.mqtt; core's
 * components/mqtt/schemas.py, sensor.py, binary_sensor.py), written down from those pages for the
 * tests: the topic form, the keys each platform takes and their types, and the rules between
 * them. Returns the problems found (none for a payload Home Assistant accepts and uses fully).
 */

const TOPIC = /^(?<prefix>.+)\/(?<component>sensor|binary_sensor)\/(?:(?<node>[a-zA-Z0-9_-]+)\/)?(?<object>[a-zA-Z0-9_-]+)\/config$/;

type Check = (v: unknown) => boolean;
const str: Check = (v) => typeof v === 'string';
const bool: Check = (v) => typeof v === 'boolean';
const int: Check = (v) => Number.isInteger(v) && (v as number) >= 0;
const topic: Check = (v) => typeof v === 'string' && v.length > 0 && !/[+#]/.test(v);
const qos: Check = (v) => v === 0 || v === 1 || v === 2;
const icon: Check = (v) => typeof v === 'string' && /^[a-z0-9-]+:[a-z0-9-]+$/.test(v);
const url: Check = (v) => typeof v === 'string' && /^(https?|homeassistant):\/\//.test(v);

const COMMON: Record<string, Check> = {
  name: (v) => v === null || str(v),
  unique_id: str,
  default_entity_id: str,
  state_topic: topic,
  value_template: str,
  json_attributes_topic: topic,
  json_attributes_template: str,
  availability_topic: topic,
  availability_template: str,
  payload_available: str,
  payload_not_available: str,
  availability: (v) =>
    Array.isArray(v) &&
    v.length > 0 &&
    v.every(
      (a) =>
        typeof a === 'object' &&
        a !== null &&
        topic((a as { topic?: unknown }).topic) &&
        Object.keys(a).every((k) => ['topic', 'payload_available', 'payload_not_available', 'value_template'].includes(k)),
    ),
  availability_mode: (v) => v === 'all' || v === 'any' || v === 'latest',
  device_class: str,
  icon,
  entity_category: (v) => v === 'diagnostic',
  expire_after: int,
  force_update: bool,
  qos,
  encoding: str,
  enabled_by_default: bool,
  entity_picture: url,
  device: (v) => typeof v === 'object' && v !== null,
  origin: (v) => typeof v === 'object' && v !== null,
};
const PLATFORM: Record<string, Record<string, Check>> = {
  sensor: { unit_of_measurement: str, state_class: str, suggested_display_precision: int, options: (v) => Array.isArray(v), last_reset_value_template: str },
  binary_sensor: { payload_on: str, payload_off: str, off_delay: int },
};
const DEVICE: Record<string, Check> = {
  identifiers: (v) => str(v) || (Array.isArray(v) && v.every(str)),
  connections: (v) => Array.isArray(v) && v.every((c) => Array.isArray(c) && c.length === 2),
  name: str,
  manufacturer: str,
  model: str,
  model_id: str,
  serial_number: str,
  sw_version: str,
  hw_version: str,
  configuration_url: url,
  via_device: str,
  suggested_area: str,
};
const ORIGIN: Record<string, Check> = { name: str, sw_version: str, support_url: url };

export function discoveryProblems(topicName: string, payload: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const m = TOPIC.exec(topicName);
  if (!m) return [`${topicName}: not <prefix>/<sensor|binary_sensor>/[<node_id>/]<object_id>/config with [a-zA-Z0-9_-] ids`];
  const keys = { ...COMMON, ...PLATFORM[m.groups!.component!] };
  for (const [key, value] of Object.entries(payload)) {
    const check = keys[key];
    if (!check) problems.push(`${key}: not a ${m.groups!.component} option (Home Assistant drops it)`);
    else if (!check(value)) problems.push(`${key}: ${JSON.stringify(value)} is not of its type`);
  }
  if (!topic(payload.state_topic)) problems.push('state_topic is required');
  if (payload.availability !== undefined && payload.availability_topic !== undefined) problems.push('availability and availability_topic must not be used together');
  if (payload.device !== undefined) {
    if (payload.unique_id === undefined) problems.push('device only works with unique_id');
    const device = payload.device as Record<string, unknown>;
    for (const [key, value] of Object.entries(device)) if (!DEVICE[key]?.(value)) problems.push(`device.${key}: unknown or of the wrong type`);
    if (device.identifiers === undefined && device.connections === undefined) problems.push('device needs identifiers or connections');
    if (device.name === undefined) problems.push('device should have a name');
  }
  if (payload.origin !== undefined) {
    const origin = payload.origin as Record<string, unknown>;
    for (const [key, value] of Object.entries(origin)) if (!ORIGIN[key]?.(value)) problems.push(`origin.${key}: unknown or of the wrong type`);
    if (!str(origin.name)) problems.push('origin.name is required');
  }
  return problems;
}
