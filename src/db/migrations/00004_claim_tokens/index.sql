-- jobpool schema, version 4: short, renewed claims on emails, and no
-- points-per-referral setting dated in the future.
-- Forward-only: never edit a migration that has shipped; add the next one.

-- An email claim now belongs to the holder that took it (a random token per
-- claim): only its holder renews, releases or holds it, so a holder whose
-- lease ran out cannot touch the claim of the worker that took over.
alter table email_deliveries add column if not exists claim_token uuid;

-- Events dated in the future are refused from now on; a setting stamped by
-- one before (it would outrank every later change for ever) is re-dated now.
update campaigns set points_per_referral_set_at = now()
where points_per_referral_set_at > now();
