/**
 * Home Assistant MQTT discovery (https://www.home-assistant.io/integrations/mqtt/): the config
 * messages that make livecap's streams and rules appear in Home Assistant with no YAML.
 *
 * Per stream, one device ("livecap door") with:
 *   sensor  Caption        state: the latest caption, cut to Home Assistant's 255 characters;
 *                          attributes: the whole caption event (text, keyframeUrl, seq, times)
 *   sensor  Video caption  the latest summary, the same way
 *   binary_sensor per rule watching the stream: on while the rule matches the stream's latest
 *                          caption (rules/rule-book.ts), its last alert as attributes
 * all available while livecap is connected (its availability topic, with a last will) and the
 * stream is live. Topics: `<discovery prefix>/<component>/<unique id>/config`, the unique id
 * as the object id (Home Assistant's advice for entities that have one).
 */

export interface DiscoveryContext {
  /** livecap's own topics start with this (default `livecap`). */
  topicPrefix: string;
  /** Home Assistant's discovery prefix (default `homeassistant`). */
  discoveryPrefix: string;
  /** Makes unique ids unique per livecap server sharing a broker. */
  base: string;
  version: string;
  /** The server's address as people reach it, for the device's link to the viewer. */
  publicUrl?: string;
}

export interface DiscoveryRule {
  id: string;
  name: string;
}

/** Home Assistant's longest state. */
export const HA_STATE_MAX = 255;

export const topics = (prefix: string, stream: string) => ({
  caption: `${prefix}/${stream}/caption`,
  captionState: `${prefix}/${stream}/caption/state`,
  summary: `${prefix}/${stream}/summary`,
  summaryState: `${prefix}/${stream}/summary/state`,
  status: `${prefix}/${stream}/status`,
  availability: `${prefix}/${stream}/availability`,
  alert: `${prefix}/${stream}/alert`,
  rule: (rule: string) => `${prefix}/${stream}/rule/${rule}`,
});

/** A text as a Home Assistant state: at most 255 characters, cut at a word with an ellipsis when longer. */
export function haState(text: string): string {
  if (text.length <= HA_STATE_MAX) return text;
  const cut = text.slice(0, HA_STATE_MAX - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > HA_STATE_MAX / 2 ? cut.slice(0, space) : cut}…`;
}

/** The discovery messages for one stream: config topic → payload. */
export function streamDiscovery(ctx: DiscoveryContext, stream: string, rules: readonly DiscoveryRule[]): Map<string, Record<string, unknown>> {
  const t = topics(ctx.topicPrefix, stream);
  const deviceId = `${ctx.base}_${stream}`;
  const device = {
    identifiers: [deviceId],
    name: `livecap ${stream}`,
    manufacturer: 'livecap',
    model: 'Live captions of a video stream',
    sw_version: ctx.version,
    ...(ctx.publicUrl && { configuration_url: `${ctx.publicUrl.replace(/\/$/, '')}/?stream=${encodeURIComponent(stream)}` }),
  };
  const common = {
    availability: [{ topic: `${ctx.topicPrefix}/status` }, { topic: t.availability }],
    availability_mode: 'all',
    device,
    origin: { name: 'livecap', sw_version: ctx.version },
    qos: 1,
  };
  const out = new Map<string, Record<string, unknown>>();
  const add = (component: 'sensor' | 'binary_sensor', uniqueId: string, payload: Record<string, unknown>) =>
    out.set(`${ctx.discoveryPrefix}/${component}/${uniqueId}/config`, { ...payload, unique_id: uniqueId, ...common });
  add('sensor', `${deviceId}_caption`, { name: 'Caption', icon: 'mdi:closed-caption', state_topic: t.captionState, json_attributes_topic: t.caption });
  add('sensor', `${deviceId}_summary`, { name: 'Video caption', icon: 'mdi:text-box-outline', state_topic: t.summaryState, json_attributes_topic: t.summary });
  for (const rule of rules) {
    add('binary_sensor', `${deviceId}_rule_${rule.id}`, {
      name: rule.name,
      icon: 'mdi:bell-alert',
      state_topic: t.rule(rule.id),
      payload_on: 'ON',
      payload_off: 'OFF',
      json_attributes_topic: `${t.rule(rule.id)}/attributes`,
    });
  }
  return out;
}
