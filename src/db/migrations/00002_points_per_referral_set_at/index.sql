-- jobpool schema, version 2: when a campaign's points per referral were last set,
-- so that a late or replayed recalculation event cannot bring back older points.
-- Forward-only: never edit a migration that has shipped; add the next one.

-- The time the current points_per_referral took effect: the timestamp of the
-- recalculation event that set them, or now() for a direct update; null until
-- either happened.
alter table campaigns add column points_per_referral_set_at timestamptz;

-- A direct update of points_per_referral (the application changing a setting)
-- stamps the time, unless the statement sets it itself.
create function jobpool_stamp_points_per_referral() returns trigger
language plpgsql as $$
begin
  if new.points_per_referral is distinct from old.points_per_referral
    and new.points_per_referral_set_at is not distinct from old.points_per_referral_set_at then
    new.points_per_referral_set_at := now();
  end if;
  return new;
end
$$;

create trigger campaigns_points_per_referral_stamped before update on campaigns
  for each row execute function jobpool_stamp_points_per_referral();
