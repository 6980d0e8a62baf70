/**
 * Prefix subscriptions: the {@code watchPrefix} machinery.
 *
 * <p>Invariants: events for one key are queued in the order their writes committed (the stripe
 * lock spans commit and delivery); a writer never blocks on a subscriber (a full subscriber is
 * ended, never waited for); an ended subscriber is unregistered and receives nothing more.
 */
package dev.luge.internal.sub;
