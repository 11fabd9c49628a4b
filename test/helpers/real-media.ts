/**
 * Real photos and footage nobody here made, from the sample data of two Debian packages,
 * unpacked by scripts/fetch-real-media.sh (which .ci/run runs) into data/cache/real-media or
 * $LIVECAP_REAL_MEDIA (the list is in bench/real-media.ts). Tests that need them skip, saying
 * how to get them, where they are missing.
 */
import { realMediaRoot } from '../../bench/real-media.js';

export { realMedia, type RealMedia } from '../../bench/real-media.js';

export const REAL_MEDIA_MISSING = `real photos and footage not found under ${realMediaRoot()}: run scripts/fetch-real-media.sh (CI does)`;
