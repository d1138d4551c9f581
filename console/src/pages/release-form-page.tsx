import { type FormEvent, useState } from 'react';
import { graphql } from '../api/client';
import {
  CREATE_RELEASE,
  type CreateReleaseResult,
  DATASET,
  type DatasetDetail,
  type DatasetResult,
  PLAN_RELEASE,
  type PlanReleaseResult,
  type ReleaseInput,
  type ReleaseMode,
  type ReleasePlan,
} from '../api/operations';
import { ErrorMessage, Loading } from '../components/error-message';
import { Facts } from '../components/facts';
import { LabelTable } from '../components/label-table';
import { PageTitle } from '../components/page-title';
import { formatBytes, formatCostEpsilon, formatEpsilon, formatNumber, formatRho } from '../format';
import { useAction, useAsync } from '../hooks';
import { Link, navigate } from '../router';
import { useSession } from '../session';

interface FormState {
  mode: ReleaseMode;
  model: string;
  expectedBatchSize: string;
  costBy: 'privateTokenCap' | 'targetEpsilon';
  privateTokenCap: string;
  targetEpsilon: string;
  clip: string;
  temperature: string;
  publicTemperature: string;
  drafter: boolean;
  threshold: string;
  sigma: string;
  maxTokens: string;
  maxPromptTokens: string;
  topK: string;
  labels: string[];
  batching: 'RANDOM' | 'CLUSTERED';
  clusters: string;
  clusteringEpsilon: string;
  clusteringIterations: string;
  clusterCountSigma: string;
}

function initialState(dataset: DatasetDetail): FormState {
  // About ten batches by default; the owner sets the real value.
  const expectedBatchSize = Math.max(1, Math.min(255, Math.floor(dataset.recordCount / 10)));
  return {
    mode: 'PRIVATE',
    model: '',
    expectedBatchSize: String(expectedBatchSize),
    costBy: 'privateTokenCap',
    privateTokenCap: '16',
    targetEpsilon: '1',
    clip: '10',
    temperature: '2',
    publicTemperature: '1',
    drafter: true,
    threshold: '0.5',
    sigma: '0.2',
    maxTokens: '64',
    maxPromptTokens: '',
    topK: '0',
    labels: [...dataset.labels],
    batching: 'RANDOM',
    clusters: '4',
    clusteringEpsilon: '0.5',
    clusteringIterations: '3',
    clusterCountSigma: '20',
  };
}

/** Blank optional fields are left out, so the gateway applies its defaults; the rest go as typed. */
function toInput(datasetId: string, dataset: DatasetDetail, form: FormState): ReleaseInput {
  const number = (value: string) => (value.trim() === '' ? undefined : Number(value));
  const input: ReleaseInput = { datasetId, mode: form.mode, expectedBatchSize: Number(form.expectedBatchSize) };
  if (form.model.trim() !== '') input.model = form.model.trim();
  const optional = { clip: number(form.clip), temperature: number(form.temperature), publicTemperature: number(form.publicTemperature), maxTokens: number(form.maxTokens), maxPromptTokens: number(form.maxPromptTokens), topK: number(form.topK) };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) (input as unknown as Record<string, number>)[key] = value;
  if (form.costBy === 'privateTokenCap') {
    const cap = number(form.privateTokenCap);
    if (cap !== undefined) input.privateTokenCap = cap;
  } else {
    const target = number(form.targetEpsilon);
    if (target !== undefined) input.targetEpsilon = target;
  }
  input.drafter = form.drafter ? { threshold: Number(form.threshold), sigma: Number(form.sigma) } : null;
  if (dataset.labels.length > 0 && form.labels.length !== dataset.labels.length) input.labels = form.labels;
  if (form.batching === 'CLUSTERED') {
    input.batching = { mode: 'CLUSTERED', clusters: number(form.clusters), iterations: number(form.clusteringIterations), countSigma: number(form.clusterCountSigma) };
    if (form.mode === 'PRIVATE') input.batching.clusteringEpsilon = number(form.clusteringEpsilon);
  }
  return input;
}

function NumberField({ id, label, help, value, onChange, step = 'any' }: { id: string; label: string; help?: string; value: string; onChange(value: string): void; step?: string }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} name={id} type="number" inputMode="decimal" step={step} value={value} onChange={(event) => onChange(event.target.value)} aria-describedby={help ? `${id}-help` : undefined} />
      {help ? (
        <p id={`${id}-help`} className="help">
          {help}
        </p>
      ) : null}
    </div>
  );
}

function PlanSummary({ plan, stale }: { plan: ReleasePlan; stale: boolean }) {
  return (
    <section className={`card plan ${plan.admitted ? 'plan-admitted' : 'plan-refused'}`} aria-labelledby="plan-heading" aria-live="polite">
      <h2 id="plan-heading">Dry run</h2>
      {stale ? <p className="warnings">The form changed since this dry run: plan again before requesting.</p> : null}
      <p className="plan-verdict">
        {plan.admitted ? (
          <>
            <strong>Admitted:</strong> the budget covers this release.
          </>
        ) : (
          <>
            <strong>Refused:</strong> {plan.refusal ?? 'the gateway would not admit this release.'}
          </>
        )}
      </p>
      <div className="grid">
        <div>
          <h3>Cost</h3>
          <Facts
            label="Cost"
            items={[
              ['This release', `ε ${formatCostEpsilon(plan.cost)} at δ ${plan.cost.delta} (ρ ${formatRho(plan.cost.rho)}, ${plan.cost.conversion} conversion)`],
              ['Per private token', `ρ ${formatRho(plan.cost.rhoPerPrivateToken)}`],
              ['Private tokens per example', String(plan.cost.privateTokenCap)],
              ...(plan.cost.labelCountRho > 0 ? ([['Noisy label count', `ρ ${formatRho(plan.cost.labelCountRho)}`]] as [string, string][]) : []),
              ...(plan.cost.clusteringRho > 0
                ? ([['Budget split', `tokens ρ ${formatRho(plan.cost.tokensRho)}, counts ρ ${formatRho(plan.cost.labelCountRho)}, clustering ρ ${formatRho(plan.cost.clusteringRho)}`]] as [string, string][])
                : []),
              ['Dataset spent', `ε ${formatEpsilon(plan.epsilonBefore)} → ${formatEpsilon(plan.epsilonAfter)}`],
              ['Remaining after', `ε ${formatEpsilon(plan.remainingEpsilon)}`],
            ]}
          />
        </div>
        <div>
          <h3>Output and memory</h3>
          <Facts
            label="Output and memory"
            items={[
              ['Synthetic examples', plan.expectedExamples === null ? 'drawn with the noisy label count' : formatNumber(plan.expectedExamples)],
              ['Records per batch (s)', formatNumber(plan.expectedBatchSize, 2)],
              ...(plan.expectedExamplesPerCluster === null ? [] : ([['Examples per cluster', `about ${formatNumber(plan.expectedExamplesPerCluster, 1)} (split by a noisy count)`]] as [string, string][])),
              ['Prompt tokens per batch', formatNumber(plan.estimatedPromptTokens)],
              ['KV memory per batch', `${formatBytes(plan.kvCacheBytesPerBatch)} of ${formatBytes(plan.kvCacheLimitBytes)} allowed`],
              ['Worker memory', `${formatBytes(plan.workerMemoryBytes)} of ${formatBytes(plan.workerMemoryLimitBytes)} allowed (weights and running batches)`],
            ]}
          />
          {plan.labels.length > 0 && plan.labels.some((entry) => entry.label !== null) ? (
            <LabelTable rows={plan.labels.map((entry) => ({ label: entry.label, examples: entry.batches ?? 'noisy count' }))} />
          ) : null}
        </div>
      </div>
    </section>
  );
}

function ReleaseForm({ datasetId, dataset }: { datasetId: string; dataset: DatasetDetail }) {
  const { token } = useSession();
  const [form, setForm] = useState<FormState>(() => initialState(dataset));
  const [planned, setPlanned] = useState<{ key: string; plan: ReleasePlan } | null>(null);
  const plan = useAction((input: ReleaseInput) => graphql<PlanReleaseResult>(token, PLAN_RELEASE, { input }));
  const create = useAction((input: ReleaseInput) => graphql<CreateReleaseResult>(token, CREATE_RELEASE, { input }));

  const input = toInput(datasetId, dataset, form);
  const key = JSON.stringify(input);
  const stale = planned !== null && planned.key !== key;
  const update = <K extends keyof FormState>(field: K) => (value: FormState[K]) => setForm((current) => ({ ...current, [field]: value }));

  const submitPlan = async (event: FormEvent) => {
    event.preventDefault();
    create.clearError();
    const result = await plan.run(input);
    setPlanned(result ? { key, plan: result.planRelease } : null);
  };
  const request = async () => {
    const result = await create.run(input);
    if (result) navigate(`/releases/${result.createRelease.id}`);
  };

  return (
    <>
      <form className="release-form" onSubmit={submitPlan} noValidate aria-describedby="form-help">
        <p id="form-help" className="help">
          Plan first: the dry run shows the cost and what the release would produce, and debits nothing. The release can be
          requested once the plan for exactly these settings is admitted.
        </p>
        <fieldset>
          <legend>Mode and model</legend>
          <div className="field">
            <label htmlFor="mode">Mode</label>
            <select id="mode" value={form.mode} onChange={(event) => update('mode')(event.target.value as FormState['mode'])}>
              <option value="PRIVATE">Private prediction over the records</option>
              <option value="PUBLIC_ONLY">Public prompt only (baseline, no record read, free)</option>
              {dataset.benchmark ? <option value="NON_PRIVATE_REFERENCE">Non-private reference (benchmark datasets only: NO privacy guarantee)</option> : null}
            </select>
          </div>
          <div className="field">
            <label htmlFor="model">Model</label>
            <input id="model" type="text" value={form.model} onChange={(event) => update('model')(event.target.value)} placeholder="default model" aria-describedby="model-help" />
            <p id="model-help" className="help">
              A model folder of the gateway; blank for its default.
            </p>
          </div>
        </fieldset>
        <fieldset>
          <legend>Batches</legend>
          <NumberField id="expectedBatchSize" label="Records per batch (s)" step="1" value={form.expectedBatchSize} onChange={update('expectedBatchSize')} help={`${formatNumber(dataset.recordCount)} records: one synthetic example per batch.`} />
          {dataset.labels.length > 0 ? (
            <fieldset className="inline">
              <legend>Labels to generate</legend>
              {dataset.labels.map((label) => (
                <label key={label} className="check">
                  <input
                    type="checkbox"
                    checked={form.labels.includes(label)}
                    onChange={(event) => update('labels')(event.target.checked ? [...form.labels, label] : form.labels.filter((entry) => entry !== label))}
                  />{' '}
                  {label}
                </label>
              ))}
            </fieldset>
          ) : null}
          <div className="field">
            <label htmlFor="batching">Batching</label>
            <select id="batching" name="batching" value={form.batching} onChange={(event) => update('batching')(event.target.value as FormState['batching'])} aria-describedby="batching-help">
              <option value="RANDOM">Random (keyed hash within each label)</option>
              <option value="CLUSTERED">Clustered (private k-means, topic-coherent batches)</option>
            </select>
            <p id="batching-help" className="help">
              Clustered batching groups similar records before batching; its clustering and count are part of the cost.
            </p>
          </div>
          {form.batching === 'CLUSTERED' ? (
            <>
              <NumberField id="clusters" label="Clusters per label" step="1" value={form.clusters} onChange={update('clusters')} />
              {form.mode === 'PRIVATE' ? <NumberField id="clusteringEpsilon" label="Clustering ε" value={form.clusteringEpsilon} onChange={update('clusteringEpsilon')} help="The private k-means alone, at the dataset's δ." /> : null}
              <NumberField id="clusteringIterations" label="Lloyd iterations" step="1" value={form.clusteringIterations} onChange={update('clusteringIterations')} />
              <NumberField id="clusterCountSigma" label="Count noise per cluster (σ)" value={form.clusterCountSigma} onChange={update('clusterCountSigma')} help="Splits each label's batches among its clusters." />
            </>
          ) : null}
        </fieldset>
        <fieldset>
          <legend>Privacy cost</legend>
          <div className="field">
            <span className="field-label" id="costBy-label">
              Limit the cost by
            </span>
            <div role="radiogroup" aria-labelledby="costBy-label" className="inline">
              <label className="check">
                <input type="radio" name="costBy" checked={form.costBy === 'privateTokenCap'} onChange={() => update('costBy')('privateTokenCap')} /> private tokens per example
              </label>
              <label className="check">
                <input type="radio" name="costBy" checked={form.costBy === 'targetEpsilon'} onChange={() => update('costBy')('targetEpsilon')} /> target ε
              </label>
            </div>
          </div>
          {form.costBy === 'privateTokenCap' ? (
            <NumberField id="privateTokenCap" label="Private tokens per example (r)" step="1" value={form.privateTokenCap} onChange={update('privateTokenCap')} />
          ) : (
            <NumberField id="targetEpsilon" label="Target ε of this release" value={form.targetEpsilon} onChange={update('targetEpsilon')} help="The largest r that fits is used." />
          )}
          <NumberField id="clip" label="Logit clip (c)" value={form.clip} onChange={update('clip')} />
          <NumberField id="temperature" label="Private temperature (τ)" value={form.temperature} onChange={update('temperature')} />
        </fieldset>
        <fieldset>
          <legend>Public drafter (sparse vector)</legend>
          <label className="check">
            <input type="checkbox" checked={form.drafter} onChange={(event) => update('drafter')(event.target.checked)} /> Use the public drafter
          </label>
          {form.drafter ? (
            <>
              <NumberField id="threshold" label="Threshold (θ)" value={form.threshold} onChange={update('threshold')} />
              <NumberField id="sigma" label="Noise scale (σ)" value={form.sigma} onChange={update('sigma')} />
            </>
          ) : null}
          <NumberField id="publicTemperature" label="Public temperature (0 = greedy)" value={form.publicTemperature} onChange={update('publicTemperature')} />
        </fieldset>
        <fieldset>
          <legend>Length</legend>
          <NumberField id="maxTokens" label="Tokens per example at most (T)" step="1" value={form.maxTokens} onChange={update('maxTokens')} />
          <NumberField
            id="maxPromptTokens"
            label="Prompt tokens at most"
            help="Blank: 256, or what the model's context leaves after T. Longer record texts are cut (the label part stays); memory is planned from this bound, never from the records."
            step="1"
            value={form.maxPromptTokens}
            onChange={update('maxPromptTokens')}
          />
          <NumberField id="topK" label="Public top-k (0 = off)" step="1" value={form.topK} onChange={update('topK')} />
        </fieldset>
        <div className="actions">
          <button type="submit" disabled={plan.busy}>
            {plan.busy ? 'Planning…' : 'Plan release (dry run)'}
          </button>
          <button type="button" className="primary" onClick={() => void request()} disabled={create.busy || !planned || stale || !planned.plan.admitted} aria-describedby="request-help">
            {create.busy ? 'Requesting…' : 'Request release'}
          </button>
        </div>
        <p id="request-help" className="help">
          {!planned ? 'Run the dry run first.' : stale ? 'The settings changed: plan again.' : planned.plan.admitted ? 'Requesting debits the budget and queues the release.' : 'This plan is refused; change the settings.'}
        </p>
      </form>
      <ErrorMessage error={plan.error} context="The dry run failed" />
      <ErrorMessage error={create.error} context="The release was not created" />
      {planned ? <PlanSummary plan={planned.plan} stale={stale} /> : null}
    </>
  );
}

/** Plan a release of one dataset, then request it. */
export function ReleaseFormPage({ datasetId }: { datasetId: string }) {
  const { token } = useSession();
  const dataset = useAsync(() => graphql<DatasetResult>(token, DATASET, { id: datasetId }), `dataset:${datasetId}`);
  const detail = dataset.data?.dataset;
  return (
    <>
      <PageTitle title="New release">{detail ? `New release of ${detail.name}` : 'New release'}</PageTitle>
      <p>
        <Link to={`/datasets/${datasetId}`}>Back to the dataset</Link>
        {detail?.budget ? ` · ε ${formatEpsilon(detail.budget.remainingEpsilon)} of ${formatEpsilon(detail.budget.epsilon)} left` : null}
      </p>
      <ErrorMessage error={dataset.error} context="Could not load the dataset" />
      {dataset.loading && !detail ? <Loading what="the dataset" /> : null}
      {detail ? <ReleaseForm datasetId={datasetId} dataset={detail} /> : null}
    </>
  );
}
