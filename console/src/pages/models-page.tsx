import { useState } from 'react';
import { graphql } from '../api/client';
import { MODELS, type ModelsResult } from '../api/operations';
import { ErrorMessage, Loading } from '../components/error-message';
import { PageTitle } from '../components/page-title';
import { formatBytes, formatNumber } from '../format';
import { useAsync } from '../hooks';
import { useSession } from '../session';

/** The model catalogue, with the memory a release batch of a chosen size needs on a worker. */
export function ModelsPage() {
  const { token } = useSession();
  const [expectedBatchSize, setExpectedBatchSize] = useState(16);
  const [maxTokens, setMaxTokens] = useState(64);
  const models = useAsync(() => graphql<ModelsResult>(token, MODELS, { expectedBatchSize, maxTokens }), `models:${expectedBatchSize}:${maxTokens}`);
  const whole = (set: (value: number) => void) => (event: { target: { value: string } }) => {
    const value = Number(event.target.value);
    if (Number.isInteger(value) && value >= 1) set(value);
  };
  return (
    <>
      <PageTitle title="Models">Models</PageTitle>
      <p className="lead">
        The models releases can use (imported with <code>synthgate model import</code>). A release whose weights and key-value caches do not fit a worker is
        refused before anything is charged.
      </p>
      <div className="toolbar">
        <div className="field">
          <label htmlFor="models-expected-batch-size">Records per batch</label>
          <input id="models-expected-batch-size" type="number" min={1} value={expectedBatchSize} onChange={whole(setExpectedBatchSize)} />
        </div>
        <div className="field">
          <label htmlFor="models-max-tokens">Tokens per example</label>
          <input id="models-max-tokens" type="number" min={1} value={maxTokens} onChange={whole(setMaxTokens)} />
        </div>
      </div>
      <ErrorMessage error={models.error} context="Could not load the models" />
      {models.loading && !models.data ? <Loading what="models" /> : null}
      {models.data ? (
        models.data.models.length === 0 ? (
          <p>No models in MODELS_DIR.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">Models</caption>
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Architecture</th>
                  <th scope="col">Parameters</th>
                  <th scope="col">Weights</th>
                  <th scope="col">Source</th>
                  <th scope="col">Context</th>
                  <th scope="col">Chat template</th>
                  <th scope="col">Disk</th>
                  <th scope="col">Weight memory</th>
                  <th scope="col">Release memory</th>
                </tr>
              </thead>
              <tbody>
                {models.data.models.map((model) => (
                  <tr key={model.name}>
                    <th scope="row">
                      {model.name}
                      {model.isDefault ? <span className="muted"> (default)</span> : null}
                    </th>
                    <td>{model.architecture ?? '?'}</td>
                    <td>{formatNumber(model.parameters / 1e6, 1)}M</td>
                    <td>{model.weightStorage ?? 'as exported'}</td>
                    <td>
                      {model.sourceKind} <code>{model.sourceFile}</code>
                      {model.sourceQuantization ? <div className="muted">{model.sourceQuantization}</div> : null}
                    </td>
                    <td>{formatNumber(model.contextLength)}</td>
                    <td>{model.chatTemplate ? 'yes' : 'no'}</td>
                    <td>{formatBytes(model.diskBytes)}</td>
                    <td>{formatBytes(model.weightMemoryBytes)}</td>
                    <td>
                      {formatBytes(model.memory.totalBytes)} of {formatBytes(model.memory.limitBytes)}
                      {model.memory.fits ? null : <strong> does not fit</strong>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : null}
    </>
  );
}
