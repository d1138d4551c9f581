import { PageTitle } from '../components/page-title';
import { Link } from '../router';

export function NotFoundPage({ path }: { path: string }) {
  return (
    <>
      <PageTitle title="Not found">No such page</PageTitle>
      <p>
        The console has no page at <code>{path}</code>. <Link to="/">Go to your start page</Link>.
      </p>
    </>
  );
}
