import { useState } from 'react';
import { graphql } from '../api/client';
import { ORGANIZATIONS, type OrganizationsResult, PUBLISH_RELEASE, type PublicationResult, REVOKE_RELEASE } from '../api/operations';
import { ErrorMessage, Loading } from '../components/error-message';
import { useAction, useAsync } from '../hooks';
import { useSession } from '../session';

type Organization = { id: string; name: string };

async function allOrganizations(token: string): Promise<Organization[]> {
  const organizations: Organization[] = [];
  let after: string | null = null;
  for (let page = 0; page < 20; page++) {
    const result: OrganizationsResult = await graphql<OrganizationsResult>(token, ORGANIZATIONS, { first: 100, after });
    organizations.push(...result.organizations.nodes);
    if (!result.organizations.pageInfo.hasNextPage) break;
    after = result.organizations.pageInfo.endCursor;
  }
  return organizations;
}

/** Publish a release to organisations, or revoke it from them (DATA_OWNER). */
export function Publication({ releaseId, publishedTo, canPublish, onChange }: { releaseId: string; publishedTo: Organization[]; canPublish: boolean; onChange(publishedTo: Organization[]): void }) {
  const { token } = useSession();
  const organizations = useAsync(() => allOrganizations(token), `organizations`);
  const [selected, setSelected] = useState<string[]>([]);
  const [override, setOverride] = useState(false);
  const publish = useAction((ids: string[]) =>
    graphql<PublicationResult>(token, PUBLISH_RELEASE, { id: releaseId, organizationIds: ids, overrideReplayCheck: override ? true : null }),
  );
  // The gateway refuses a release whose replay check failed unless the owner overrides it.
  const replayRefused = publish.error?.code === 'CONFLICT' && publish.error.field === 'overrideReplayCheck';
  const revoke = useAction((ids: string[]) => graphql<PublicationResult>(token, REVOKE_RELEASE, { id: releaseId, organizationIds: ids }));
  const published = new Set(publishedTo.map((organization) => organization.id));
  const candidates = (organizations.data ?? []).filter((organization) => !published.has(organization.id));

  const doPublish = async () => {
    revoke.clearError();
    const result = await publish.run(selected);
    if (result?.publishRelease) {
      setSelected([]);
      setOverride(false);
      onChange(result.publishRelease.publishedTo);
    }
  };
  const doRevoke = async (organization: Organization) => {
    publish.clearError();
    const result = await revoke.run([organization.id]);
    if (result?.revokeRelease) onChange(result.revokeRelease.publishedTo);
  };

  return (
    <section className="card" aria-labelledby="publication-heading">
      <h2 id="publication-heading">Publication</h2>
      {publishedTo.length === 0 ? (
        <p>Not published: no consumer can see this release.</p>
      ) : (
        <ul className="published" aria-label="Published to">
          {publishedTo.map((organization) => (
            <li key={organization.id}>
              <span>{organization.name}</span>{' '}
              <button type="button" onClick={() => void doRevoke(organization)} disabled={revoke.busy} aria-label={`Revoke from ${organization.name}`}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
      <ErrorMessage error={revoke.error} context="Revoking failed" />
      {!canPublish ? (
        <p className="muted">Only a finished release can be published.</p>
      ) : (
        <>
          <ErrorMessage error={organizations.error} context="Could not list organisations" />
          {organizations.loading && !organizations.data ? <Loading what="organisations" /> : null}
          {organizations.data ? (
            candidates.length === 0 ? (
              <p className="muted">Published to every organisation you can see.</p>
            ) : (
              <fieldset>
                <legend>Publish to</legend>
                {candidates.map((organization) => (
                  <label key={organization.id} className="check">
                    <input
                      type="checkbox"
                      checked={selected.includes(organization.id)}
                      onChange={(event) => setSelected((current) => (event.target.checked ? [...current, organization.id] : current.filter((id) => id !== organization.id)))}
                    />{' '}
                    {organization.name}
                  </label>
                ))}
                {replayRefused || override ? (
                  <label className="check override">
                    <input type="checkbox" checked={override} onChange={(event) => setOverride(event.target.checked)} /> Publish although the replay check failed
                    (written to the audit log)
                  </label>
                ) : null}
                <p className="muted" role="note">
                  The replay check reads the sensitive records: refusing or allowing publication because of it is outside the differential privacy guarantee. Consumers
                  never see the check, its outcome or an override.
                </p>
                <div className="actions">
                  <button type="button" className="primary" onClick={() => void doPublish()} disabled={publish.busy || selected.length === 0}>
                    {publish.busy ? 'Publishing…' : 'Publish'}
                  </button>
                </div>
              </fieldset>
            )
          ) : null}
          <ErrorMessage error={publish.error} context="Publishing failed" />
        </>
      )}
    </section>
  );
}
