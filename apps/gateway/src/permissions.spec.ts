import 'reflect-metadata';
import { permissionTable } from './permission-table';

describe('permission declarations', () => {
  it('every operation declares a permission', () => {
    expect(permissionTable().filter((line) => line.endsWith('UNDECLARED'))).toEqual([]);
  });

  // A diff in this snapshot is a permission change: review it as one.
  it('are pinned', () => {
    expect(permissionTable()).toMatchSnapshot();
  });
});
