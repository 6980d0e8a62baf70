/**
 * Prefix subscriptions: the {@code watchPrefix} machinery.
 *
 * <p>Invariants: events for one key are queued in the order their writes committed (the stripe lock
 * spans commit and delivery); a writer never blocks on a subscriber (a full subscriber, one an
 * event would take over its event or byte bound, is ended, never waited for); the counted bytes of
 * a subscriber's queued events never exceed its byte bound, except for a single event queued while
 * nothing else was unread; an ended subscriber is unregistered and receives nothing more; a closed
 * subscriber (or every subscriber of a closed database or dropped tree) delivers nothing, whatever
 * it had buffered.
 */
package dev.luge.internal.sub;
