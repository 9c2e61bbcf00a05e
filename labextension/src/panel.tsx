/**
 * The left-sidebar panel: a Lab SidePanel whose toolbar has "New job" and "Reload", and
 * whose body is React (the list, the launch form, one job's details).
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { ReactWidget, SidePanel, ToolbarButton, UseSignal, addIcon, refreshIcon } from '@jupyterlab/ui-components';
import { Panel } from '@lumino/widgets';
import * as React from 'react';

import { IJob, IJobSummary, findJob, jobId, jobRef, workersNoun } from './api';
import { JobDetail } from './components/JobDetail';
import { JobList } from './components/JobList';
import { LaunchForm } from './components/LaunchForm';
import { ILaunchForm, cloneForm } from './form';
import { JobsModel, describe } from './model';
import { kfIcon } from './icon';

export interface IPanelOptions {
  model: JobsModel;
  pickScript: () => Promise<string | null>;
  currentCell: () => { source: string; notebook: string } | null;
  /** Show a job in a tab of the main area (by its jobId, kind/name). */
  openTab: (job: string) => void;
}

export interface IPanelSettings {
  defaultFramework: string;
  defaultWorkers: number;
  logTailLines: number;
}

export class KFPanel extends SidePanel {
  constructor(options: IPanelOptions) {
    // A plain Panel body: the default accordion would add a title bar over a single child.
    super({ content: new Panel() });
    this.model = options.model;
    this._options = options;
    this.id = 'jupyter-kf-panel';
    this.addClass('jp-kf-panel');
    this.title.icon = kfIcon;
    this.title.caption = 'Training jobs (Kubeflow)';

    const header = ReactWidget.create(
      <UseSignal signal={this.model.changed}>
        {() => (
          <div className="jp-kf-header">
            <span className="jp-kf-title">Training jobs</span>
            <span
              className={`jp-kf-live${this.model.live ? ' jp-mod-live' : ''}`}
              title={this.model.live ? 'Live: changes arrive as they happen' : 'Not connected: the list may be stale'}
            >
              {this.model.live ? '● live' : '○ offline'}
            </span>
            <span className="jp-kf-ns">{this.model.namespace}</span>
          </div>
        )}
      </UseSignal>
    );
    this.header.addWidget(header);
    this.toolbar.addItem(
      'new-job',
      new ToolbarButton({ icon: addIcon, label: 'New job', tooltip: 'Launch a training job', onClick: () => this.showForm() })
    );
    this.toolbar.addItem(
      'reload',
      new ToolbarButton({ icon: refreshIcon, tooltip: 'Reload the job list', onClick: () => void this.model.reload() })
    );
    this._body = ReactWidget.create(
      <UseSignal signal={this.model.changed}>{() => this._render()}</UseSignal>
    );
    this._body.addClass('jp-kf-body');
    this.addWidget(this._body);
  }

  readonly model: JobsModel;
  settings: IPanelSettings = { defaultFramework: 'pytorch', defaultWorkers: 2, logTailLines: 10000 };

  /** Open the launch form, optionally pre-filled (e.g. with the current cell). */
  showForm(initial?: Partial<ILaunchForm>): void {
    this._formInitial = initial;
    this._formKey += 1;
    this._showForm = true;
    this.model.select(null);
  }

  private async _launch(body: Record<string, unknown>): Promise<string> {
    try {
      const job = await this.model.api.create(body);
      this._showForm = false;
      this.model.upsert(job);
      this.model.select(jobId(job));
      Notification.success(`Launched ${job.name} (${job.kind}, ${job.workers} ${workersNoun(job.kind)})`, {
        autoClose: 3000
      });
      if (job.extra?.notice) {
        Notification.info(`${job.name}: ${job.extra.notice}`, { autoClose: false });
      }
      return '';
    } catch (error) {
      return describe(error);
    }
  }

  /** Delete several jobs (by jobId) after one confirmation; what failed is told, the rest go. */
  async deleteJobs(ids: string[]): Promise<void> {
    const jobs = ids.map(id => findJob(this.model.jobs, id)).filter((j): j is IJobSummary => !!j);
    if (!jobs.length) {
      return;
    }
    // A name another listed job shares is shown with its kind, so the dialog says which.
    const shared = (j: IJobSummary) => this.model.jobs.filter(o => o.name === j.name).length > 1;
    const names = jobs.map(j => (shared(j) ? jobId(j) : j.name));
    const result = await showDialog({
      title: names.length === 1 ? `Delete ${names[0]}?` : `Delete ${names.length} jobs?`,
      body: `${names.join(', ')}: their replicas are stopped and their logs, events and metrics are removed.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
    });
    if (!result.button.accept) {
      return;
    }
    const outcomes = await Promise.allSettled(jobs.map(j => this.model.api.delete(jobRef(j))));
    const failed: string[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') {
        this.model.remove(jobId(jobs[i]));
      } else {
        failed.push(`${names[i]}: ${describe(outcome.reason)}`);
      }
    });
    if (failed.length) {
      Notification.error(`Could not delete ${failed.join('; ')}`, { autoClose: false });
    }
  }

  /** The launch form, filled from a job (clone and re-run with changes). */
  cloneJob(job: IJob): void {
    const frameworks = this.model.config?.frameworks ?? [];
    this.showForm(cloneForm(job, frameworks, this.model.jobs.map(j => j.name)));
  }

  async confirmDelete(name: string): Promise<boolean> {
    const result = await showDialog({
      title: `Delete ${name}?`,
      body: 'Its replicas are stopped and its logs, events and metrics are removed.',
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
    });
    return result.button.accept;
  }

  private _render(): JSX.Element {
    const model = this.model;
    const selected: IJobSummary | undefined = findJob(model.jobs, model.selected);
    let main: JSX.Element;
    if (this._showForm) {
      main = (
        <LaunchForm
          key={this._formKey}
          config={model.config}
          defaults={{ framework: this.settings.defaultFramework, workers: this.settings.defaultWorkers }}
          loadRuntimes={() => model.api.runtimes()}
          initial={this._formInitial}
          onLaunch={body => this._launch(body)}
          onCancel={() => {
            this._showForm = false;
            model.select(null);
          }}
          pickScript={this._options.pickScript}
          currentCell={this._options.currentCell}
        />
      );
    } else if (selected) {
      main = (
        <JobDetail
          key={jobId(selected)}
          api={model.api}
          summary={selected}
          tailLines={this.settings.logTailLines}
          onClose={() => model.select(null)}
          onChanged={job => model.upsert(job)}
          onDeleted={id => model.remove(id)}
          confirmDelete={name => this.confirmDelete(name)}
          onClone={job => this.cloneJob(job)}
          onOpenTab={() => this._options.openTab(jobId(selected))}
        />
      );
    } else {
      main = (
        <JobList
          jobs={model.jobs}
          selected={model.selected}
          loaded={model.loaded}
          onSelect={id => model.select(id)}
          onDelete={ids => this.deleteJobs(ids)}
        />
      );
    }
    return (
      <div className="jp-kf-content">
        {model.error ? (
          <div className="jp-kf-error" role="alert">
            {model.error}
          </div>
        ) : null}
        {main}
      </div>
    );
  }

  private _options: IPanelOptions;
  private _body: ReactWidget;
  private _showForm = false;
  private _formKey = 0;
  private _formInitial: Partial<ILaunchForm> | undefined;
}
