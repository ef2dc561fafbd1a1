// Labels for the domain's code names (DESIGN glossary), per language.
export default {
  'zh-CN': {
    kind: { home: '入户走访', chat: '拉家常', forum: '座谈', phone: '电话', reception: '接待', stay: '蹲点', festival: '节日慰问', petition: '下访' },
    tag: { hardship_member: '困难党员', hardship_resident: '困难群众', empty_nest_elderly: '空巢老人', left_behind_child: '留守儿童', subsistence: '低保户', monitored: '脱贫监测户', disabled: '残疾人' },
    visit_topic: { livelihood: '生产生活', policy: '政策宣传', health: '医疗健康', employment: '就业增收', education: '子女教育', housing: '住房安全', safety: '安全隐患', opinions: '意见建议' },
    interview_topic: { family: '家庭情况', health: '身体状况', performance: '工作表现', team: '班子运行', organisation: '对组织工作的意见', difficulties: '困难诉求' },
    form: { one_on_one: '个别谈', group: '集体谈', home: '上门谈', phone: '电话谈' },
    direction: { leader_to_cadre: '领导约谈干部', cadre_to_leader: '干部约谈领导' },
    issue_category: { livelihood: '生产生活', infrastructure: '基础设施', medical: '医疗', education: '教育', employment: '就业', housing: '住房', dispute: '矛盾纠纷', policy: '政策咨询', other: '其他' },
    issue_state: { raised: '已登记', routed: '已交办', resolved: '已办结', replied: '已答复', rated: '已评价', reopened: '重新办理' },
    rank: { section_chief: '正科', deputy_section_chief: '副科', staff: '一般干部', village_cadre: '村干部' },
  },
  en: {
    kind: { home: 'Home visit', chat: 'Chat', forum: 'Forum', phone: 'Phone', reception: 'Reception', stay: 'Stay', festival: 'Festival visit', petition: 'Petition visit' },
    tag: { hardship_member: 'Hardship member', hardship_resident: 'Hardship resident', empty_nest_elderly: 'Empty-nest elderly', left_behind_child: 'Left-behind child', subsistence: 'Subsistence', monitored: 'Monitored', disabled: 'Disabled' },
    visit_topic: { livelihood: 'Livelihood', policy: 'Policy', health: 'Health', employment: 'Jobs', education: 'Schooling', housing: 'Housing', safety: 'Safety', opinions: 'Opinions' },
    interview_topic: { family: 'Family', health: 'Health', performance: 'Work performance', team: 'Team operation', organisation: 'Organisation work', difficulties: 'Difficulties' },
    form: { one_on_one: 'One-on-one', group: 'Group', home: 'At home', phone: 'Phone' },
    direction: { leader_to_cadre: 'Leader to cadre', cadre_to_leader: 'Cadre to leader' },
    issue_category: { livelihood: 'Livelihood', infrastructure: 'Infrastructure', medical: 'Medical', education: 'Education', employment: 'Jobs', housing: 'Housing', dispute: 'Dispute', policy: 'Policy question', other: 'Other' },
    issue_state: { raised: 'Raised', routed: 'Routed', resolved: 'Resolved', replied: 'Replied', rated: 'Rated', reopened: 'Reopened' },
    rank: { section_chief: 'Section chief', deputy_section_chief: 'Deputy section chief', staff: 'Staff', village_cadre: 'Village cadre' },
  },
};
