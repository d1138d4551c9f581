import { type ReleaseStatus } from '../api/operations';

const descriptions: Record<ReleaseStatus, string> = {
  QUEUED: 'queued',
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
};

export function StatusBadge({ status }: { status: ReleaseStatus }) {
  return <span className={`badge badge-${status.toLowerCase()}`}>{descriptions[status]}</span>;
}
