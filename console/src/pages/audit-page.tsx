import { type FormEvent, useState } from 'react';
import { graphql } from '../api/client';
import { AUDIT_EVENTS, type AuditEventsResult, type AuditFilter, type AuditOutcome } from '../api/operations';
import { ErrorMessage, Loading } from '../components/error-message';
import { PageTitle } from '../components/page-title';
import { Pager, useCursorPages } from '../components/pager';
import { formatTime } from '../format';
import { useAsync } from '../hooks';
import { useSession } from '../session';

interface FilterForm {
  action: string;
  actionPrefix: string;
  subjectId: string;
  outcome: AuditOutcome | '';
  since: string;
  until: string;
}

const empty: FilterForm = { action: '', actionPrefix: '', subjectId: '', outcome: '', since: '', until: '' };

/** datetime-local fields are in the reader's time zone; the API takes instants. */
function toInstant(value: string): string | undefined {
  if (value.trim() === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

function toFilter(form: FilterForm): AuditFilter {
  const filter: AuditFilter = {};
  if (form.action.trim()) filter.action = form.action.trim();
  if (form.actionPrefix.trim()) filter.actionPrefix = form.actionPrefix.trim();
  if (form.subjectId.trim()) filter.subjectId = form.subjectId.trim();
  if (form.outcome) filter.outcome = form.outcome;
  const since = toInstant(form.since);
  if (since) filter.since = since;
  const until = toInstant(form.until);
  if (until) filter.until = until;
  return filter;
}

/** The audit log of the caller's organisation, newest first, with filters. */
export function AuditPage() {
  const { token } = useSession();
  const [form, setForm] = useState<FilterForm>(empty);
  const [filter, setFilter] = useState<AuditFilter>({});
  const pages = useCursorPages();
  const events = useAsync(
    () => graphql<AuditEventsResult>(token, AUDIT_EVENTS, { filter, first: 25, after: pages.after }),
    `audit:${JSON.stringify(filter)}:${pages.after}`,
  );
  const field = (name: keyof FilterForm) => ({
    id: `audit-${name}`,
    value: form[name],
    onChange: (event: { target: { value: string } }) => setForm((current) => ({ ...current, [name]: event.target.value })),
  });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilter(toFilter(form));
    pages.reset();
  };
  const clear = () => {
    setForm(empty);
    setFilter({});
    pages.reset();
  };
  const nodes = events.data?.auditEvents.nodes ?? [];

  return (
    <>
      <PageTitle title="Audit log">Audit log</PageTitle>
      <p className="lead">Who did what, to which subject, when, and how it ended; newest first.</p>
      <form className="filters" onSubmit={apply} aria-label="Audit filters">
        <div className="field">
          <label htmlFor="audit-action">Action (exact)</label>
          <input type="text" placeholder="release.create" {...field('action')} />
        </div>
        <div className="field">
          <label htmlFor="audit-actionPrefix">Action starts with</label>
          <input type="text" placeholder="release" {...field('actionPrefix')} />
        </div>
        <div className="field">
          <label htmlFor="audit-subjectId">Subject id</label>
          <input type="text" {...field('subjectId')} />
        </div>
        <div className="field">
          <label htmlFor="audit-outcome">Outcome</label>
          <select {...field('outcome')}>
            <option value="">Any</option>
            <option value="SUCCESS">success</option>
            <option value="FAILURE">failure</option>
            <option value="DENIED">denied</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="audit-since">Since (your local time)</label>
          <input type="datetime-local" step="1" {...field('since')} />
        </div>
        <div className="field">
          <label htmlFor="audit-until">Until (your local time)</label>
          <input type="datetime-local" step="1" {...field('until')} />
        </div>
        <div className="actions">
          <button type="submit" className="primary">
            Apply filters
          </button>
          <button type="button" onClick={clear}>
            Clear
          </button>
        </div>
      </form>
      <ErrorMessage error={events.error} context="Could not load the audit log" />
      {events.loading && !events.data ? <Loading what="audit events" /> : null}
      {events.data ? (
        nodes.length === 0 ? (
          <p>No audit events match.</p>
        ) : (
          <div className="table-wrap">
            <table className="audit">
              <caption className="visually-hidden">Audit events</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Action</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Subject</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Request</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {nodes.map((event) => (
                  <tr key={event.id}>
                    <td>{formatTime(event.createdAt)}</td>
                    <th scope="row">
                      <code>{event.action}</code>
                    </th>
                    <td>
                      <span className={`badge outcome-${event.outcome.toLowerCase()}`}>{event.outcome.toLowerCase()}</span>
                    </td>
                    <td>
                      {event.subjectType ?? '—'}
                      {event.subjectId ? (
                        <>
                          {' '}
                          <code title={event.subjectId}>{event.subjectId.slice(0, 8)}</code>
                        </>
                      ) : null}
                    </td>
                    <td>{event.actorUserId ? <code title={event.actorUserId}>{event.actorUserId.slice(0, 8)}</code> : '—'}</td>
                    <td>{event.requestId ? <code>{event.requestId.slice(0, 8)}</code> : '—'}</td>
                    <td className="details">
                      <code>{JSON.stringify(event.details)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : null}
      <Pager label="Audit events" pageInfo={events.data?.auditEvents.pageInfo} page={pages.page} onNext={pages.next} onPrevious={pages.previous} />
    </>
  );
}
