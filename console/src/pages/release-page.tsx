import { graphql } from '../api/client';
import { CANCEL_RELEASE, RELEASE, RELEASE_PROGRESS, type ReleaseDetail, type ReleaseProgressResult, type ReleaseResult } from '../api/operations';
import { ErrorMessage, Loading } from '../components/error-message';
import { Facts } from '../components/facts';
import { LabelTable } from '../components/label-table';
import { PageTitle } from '../components/page-title';
import { StatusBadge } from '../components/status-badge';
import { formatCostEpsilon, formatDuration, formatNumber, formatRho, formatTime } from '../format';
import { useAction, useAsync, usePolling } from '../hooks';
import { Link } from '../router';
import { useSession } from '../session';
import { Publication } from './publication';
import { QualityReport } from './quality-report';
import { RecordBrowser } from './record-browser';

export const PROGRESS_POLL_MS = 1000;

const modeNames: Record<ReleaseDetail['parameters']['mode'], string> = {
  PRIVATE: 'private prediction',
  PUBLIC_ONLY: 'public prompt only',
  NON_PRIVATE_REFERENCE: 'non-private reference (no privacy guarantee)',
};

function Progress({ release, progress }: { release: ReleaseDetail; progress: NonNullable<ReleaseDetail['progress']> }) {
  const active = release.status === 'QUEUED' || release.status === 'RUNNING';
  return (
    <section className="card" aria-labelledby="progress-heading">
      <h2 id="progress-heading">Progress</h2>
      <label htmlFor="release-progress" className="visually-hidden">
        Batches done
      </label>
      <progress id="release-progress" max={Math.max(1, progress.batchesTotal)} value={progress.batchesDone} />
      <p aria-live="polite" className="progress-text">
        {progress.batchesDone} of {progress.batchesTotal} batches done
        {active ? ' · updating every second' : ''}
      </p>
      <Facts
        label="Progress figures"
        items={[
          ['Tokens generated', formatNumber(progress.tokensGenerated)],
          ['Tokens per second', progress.tokensPerSecond === null ? '—' : formatNumber(progress.tokensPerSecond, 1)],
          ['Elapsed', formatDuration(progress.elapsedSeconds)],
          ['Time left', active ? formatDuration(progress.estimatedSecondsLeft) : '—'],
          ['Requested', formatTime(release.createdAt)],
          ['Started', formatTime(release.startedAt)],
          ['Finished', formatTime(release.finishedAt)],
        ]}
      />
      {release.failureReason ? (
        <p className="error" role="alert">
          <strong>Failed:</strong> {release.failureReason}
        </p>
      ) : null}
    </section>
  );
}

function Parameters({ release }: { release: ReleaseDetail }) {
  const { parameters, cost } = release;
  return (
    <div className="grid">
      <section className="card" aria-labelledby="cost-heading">
        <h2 id="cost-heading">Privacy cost charged</h2>
        <p className="big-figure">
          ε {formatCostEpsilon(cost)} <span className="muted">at δ {cost.delta}</span>
        </p>
        {release.status === 'CANCELLED' || release.status === 'FAILED' ? (
          <p className="muted">Refunded only if it stopped before any batch read a record: the dataset&apos;s ledger shows a refund entry then.</p>
        ) : null}
        <Facts
          label="Privacy cost"
          items={[
            ['ρ (zCDP)', formatRho(cost.rho)],
            ['Conversion', cost.conversion],
            ['Private tokens per example (r)', String(cost.privateTokenCap)],
            ['ρ per private token', formatRho(cost.rhoPerPrivateToken)],
            ...(cost.labelCountRho > 0 ? ([['ρ of the noisy label count', formatRho(cost.labelCountRho)]] as [string, string][]) : []),
          ]}
        />
      </section>
      <section className="card" aria-labelledby="parameters-heading">
        <h2 id="parameters-heading">Parameters</h2>
        <Facts
          label="Release parameters"
          items={[
            ['Mode', modeNames[parameters.mode]],
            ['Model', `${release.model.name} (${release.model.fingerprint.slice(0, 12)})`],
            ['Records when requested (N)', formatNumber(release.recordCount)],
            ['Synthetic examples (batches)', formatNumber(release.batchCount)],
            ['Records per batch (s)', String(parameters.expectedBatchSize)],
            ['Mechanism', parameters.mechanism],
            ['Clip (c)', parameters.clip === null ? 'none' : String(parameters.clip)],
            ['Temperature (τ)', parameters.temperature === null ? 'none' : String(parameters.temperature)],
            ['Public temperature', parameters.publicTemperature === null ? 'none' : String(parameters.publicTemperature)],
            ['Drafter', parameters.drafter ? `θ ${parameters.drafter.threshold}, σ ${parameters.drafter.sigma}` : 'off'],
            ['Tokens per example at most (T)', String(parameters.maxTokens)],
            ['Prompt tokens at most (longer record texts are cut)', parameters.maxPromptTokens === null ? 'the model context' : String(parameters.maxPromptTokens)],
            ['Top-k', parameters.topK === 0 || parameters.topK === null ? 'off' : String(parameters.topK)],
            ['Labels', parameters.labels ? parameters.labels.join(', ') : 'all'],
          ]}
        />
        {release.labelCounts.length > 0 ? (
          <LabelTable rows={release.labelCounts.map((entry) => ({ label: entry.label, examples: entry.count }))} />
        ) : null}
        <h3>Prompt template</h3>
        <pre className="template">{parameters.promptTemplate}</pre>
      </section>
    </div>
  );
}

/**
 * One release. What shows depends on the role, as the API decides: owners follow its progress,
 * publish and revoke it; consumers browse and export it; compliance reads its parameters.
 */
export function ReleasePage({ id }: { id: string }) {
  const { token, me } = useSession();
  const release = useAsync(() => graphql<ReleaseResult>(token, RELEASE, { id }), `release:${id}`);
  const cancel = useAction(() => graphql(token, CANCEL_RELEASE, { id }));
  const detail = release.data?.release;
  const active = detail?.status === 'QUEUED' || detail?.status === 'RUNNING';

  // Live progress: poll the small progress query; reload everything once the release settles.
  usePolling(
    async () => {
      try {
        const { release: update } = await graphql<ReleaseProgressResult>(token, RELEASE_PROGRESS, { id });
        release.setData((current) => (current ? { release: { ...current.release, ...update } } : current));
        if (update.status !== 'QUEUED' && update.status !== 'RUNNING') release.reload();
      } catch {
        release.reload(); // shows the error through the full query
      }
    },
    PROGRESS_POLL_MS,
    active,
  );

  const isOwner = me.role === 'DATA_OWNER';
  const readsRecords = me.role === 'DATA_OWNER' || me.role === 'CONSUMER';
  const seesQuality = me.role === 'DATA_OWNER' || me.role === 'COMPLIANCE';

  return (
    <>
      <PageTitle title="Release">{detail ? `Release of ${detail.datasetName}` : 'Release'}</PageTitle>
      <ErrorMessage error={release.error} context="Could not load the release" />
      {release.loading && !detail ? <Loading what="the release" /> : null}
      {detail ? (
        <>
          <p className="release-heading-meta">
            <StatusBadge status={detail.status} /> <code title="Release id">{detail.id}</code>
            {isOwner ? (
              <>
                {' · '}
                <Link to={`/datasets/${detail.datasetId}`}>dataset {detail.datasetName}</Link>
              </>
            ) : null}
          </p>
          {isOwner && active ? (
            <div className="actions">
              <button type="button" onClick={() => void cancel.run().then(() => release.reload())} disabled={cancel.busy}>
                Cancel release
              </button>
            </div>
          ) : null}
          <ErrorMessage error={cancel.error} context="Cancelling failed" />
          {/* Progress and timing depend on the records: the API shows them to the owning organisation's owners and compliance only. */}
          {detail.progress ? <Progress release={detail} progress={detail.progress} /> : null}
          <Parameters release={detail} />
          {seesQuality ? <QualityReport releaseId={detail.id} datasetId={detail.datasetId} status={detail.status} /> : null}
          {isOwner ? (
            <Publication
              releaseId={detail.id}
              publishedTo={detail.publishedTo}
              canPublish={detail.status === 'SUCCEEDED'}
              onChange={(publishedTo) => release.setData((current) => (current ? { release: { ...current.release, publishedTo } } : current))}
            />
          ) : me.role === 'CONSUMER' ? (
            <p>
              Published to {detail.publishedTo.map((organization) => organization.name).join(', ') || 'your organisation'}.
            </p>
          ) : null}
          {readsRecords && detail.status === 'SUCCEEDED' ? <RecordBrowser releaseId={detail.id} labels={detail.labelCounts.map((entry) => entry.label)} /> : null}
        </>
      ) : null}
    </>
  );
}
